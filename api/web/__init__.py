"""The HTTP API: blueprints, request parsing, auth, the OpenAPI description and the one error table."""
