"""Mapping files: the file schema, the loader, the compiled model that renders events into PATCHes,
value specs, JMESPath expressions, transforms, and Reevo's PATCH field surface."""
