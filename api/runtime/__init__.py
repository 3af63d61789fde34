"""The product's working parts, without HTTP: services, serving engine, learner loop, jobs, metrics."""
