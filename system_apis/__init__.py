"""System APIs: one adapter per backend speaking its wire protocol, returning canonical records."""
