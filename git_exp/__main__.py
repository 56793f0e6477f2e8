from git_exp.cli import main

raise SystemExit(main())
