from git_exp.entry import main

raise SystemExit(main())
