"""Policy engines: take documents, return raw results; never decide pass/fail."""
