"""`artbandit demo` and the server-process helper it, the end-to-end tests and the API benchmark share."""
