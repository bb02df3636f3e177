"""hashsets"""
