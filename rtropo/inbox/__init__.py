"""What happens to an inbound SMS: recorded, routed, answered."""
