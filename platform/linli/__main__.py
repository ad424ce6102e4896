from linli.cli import main

raise SystemExit(main())
