from chatnut.cli import main

raise SystemExit(main())
