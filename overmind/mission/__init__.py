"""A mission from request to unit: its name, its validated spec, the unit properties it becomes,
its status and how it is shown. Everything here is pure logic or reads; nothing starts units."""
