"""kpitui: the terminal KPI board SaaS operators keep open."""

__version__ = "0.1.0"
