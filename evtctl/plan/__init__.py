"""Plan and apply: desired state, live state, a pure diff with risk classes, renderers, apply."""
