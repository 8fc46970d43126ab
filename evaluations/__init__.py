"""Post-event evaluation forms, their personal links, answers and results."""
