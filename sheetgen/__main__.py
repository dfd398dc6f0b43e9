from sheetgen.cli import main

raise SystemExit(main())
