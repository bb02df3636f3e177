"""Benign test and demo material generated in code: photo-like scenes in every image format,
their edited copies, and whole sample collections. Nothing here is downloaded or depicts people.
"""
