"""The Qualiopi board: the 32 indicators with the evidence held over a period and the gaps to fix."""
