"""What happens to an outgoing message: queued, launched, answered, confirmed."""
