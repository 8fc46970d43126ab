"""Events, editions (umbrella events with children), JPS activity submissions, calendars."""
