from pycallcenter.cli import main

raise SystemExit(main())
