"""People directory: territories, clienteles, organizations, persons, consents, plan items."""
