"""Entry point for ``python -m edgevision``."""

from edgevision.cli.main import main

raise SystemExit(main())
