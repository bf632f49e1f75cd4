"""GTD API on Python (Starlette + asyncpg) and PostgreSQL: the python-postgres backend.

python -m gtd_pg          # settings from the environment, see gtd_pg.settings
"""

__version__ = "1.0.0"
