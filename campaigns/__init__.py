"""Campaigns: audiences, invitations with RSVP, newsletters, reminders, follow-ups."""
