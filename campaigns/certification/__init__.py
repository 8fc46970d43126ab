"""Employer certification: programs, applications, review, certificates, directory."""
