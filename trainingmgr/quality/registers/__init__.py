"""The registers the Qualiopi board used to send « hors logiciel »: the watch log (23–25), the disability partner
network and each trainee's adaptations (26), and the needs analyses held outside the questionnaire (4)."""
