"""Campaigns: audiences, invitations with RSVP, newsletters, automatic messages per event
(reminders, thank-yous, change notices), unsubscribe and preferences."""
