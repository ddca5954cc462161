"""Sign-in: the hub's own OpenID Connect provider, its signing keys, and the checks on JSON Web
Tokens from it and from an outside provider."""
