"""Registrations: capacity, waitlist, approval, tickets (signed QR), self-service."""
