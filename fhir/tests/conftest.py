from fhir.tests.world import frozen, rules, world  # noqa: F401  (fixtures for every module)
