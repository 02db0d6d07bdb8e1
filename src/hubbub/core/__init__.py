"""The domain core: models, rules and services. Imports no framework, driver or adapter."""
