"""Improvement actions (Qualiopi 32): the register, its forms and its pages."""
