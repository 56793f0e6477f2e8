"""The speed benchmark of issue 4: git-exp against plain git doing the same work.

``python -m tests.bench`` (``make bench``) builds fixtures with ``git fast-import`` in a
temporary directory (``/dev/shm`` when it is there), then for each operation times a
``git exp ...`` command (A) and the plain-git command that does the same work (B),
interleaved A B A B ..., one warm-up pair first, and reports the medians and their ratio.
Each row has two columns: files (the git on PATH, git's default files refs) and reftable
(issue 10: the same, with the current git of .ci/git-current.sh first on PATH and every
repository made with reftable refs), the latter when that git is built and not
``--no-reftable``.  Exit status and ``--strict``: see ``cli``.

Modules: ``env`` (processes, environment, temp dir), ``fixtures`` (repositories),
``timing`` (interleaved medians), ``ops`` (the operations and their baselines),
``targets`` (the targets and how they apply), ``report`` (markdown and JSON),
``dvc`` (``--with-dvc``: DVC's experiment commands side by side), ``archive`` (issue 14:
what archived experiments cost a plain fetch and push; ``--with-100k``, or ``--archived-n
N``), ``mlflowcmp`` (``--with-mlflow``: MLflow's tracking store side by side), ``cli``
(options).

Decisions:
- A target stated only "at 10k" applies at every N >= 10k; below it the row is
  informational: ``ok`` is null, ``target`` holds the 10k target for reference, and
  the table says "info".  ``ls`` at N >= 100k uses its 100k target.
- Every command runs in a hermetic environment: own HOME, no system config, fixed
  identity, ``LC_ALL=C``, ``gc.auto=0`` (no background repacks between runs).
- Fixtures: one baseline commit holding params.yaml, metrics.json and
  ``--files`` ordinary files (default 20,000, so ``save`` runs in a 20k-file repo);
  N experiment commits on it, each changing params.yaml and metrics.json; half named
  ``sweep/lr-<i>``, half ``ci/<i>``.  Refs are packed (as after ``git gc``; with
  reftable, compacted into one table).
- Clones used by ``pull`` are made without a checkout (fetch never reads the work tree)
  and copied from a template before each run, outside the timed region.
- ``--with-dvc`` compares on separate fixtures of the same N with ``--dvc-files``
  (default 2000) ordinary files: ``dvc exp show`` walks every experiment's whole tree
  (~1.1 s per experiment at 20k files).  Its rows are in the JSON as ``dvc-<op>`` with
  ``baseline_s`` = DVC and target 0.05 (git-exp at least 20x faster); ``--dvc-ops``
  picks some of them.  ``ls-cold`` and ``show-cold`` remove both tools' caches first.
- ``--smoke`` (N=50, 200 files, 1 run, no warm-up) only keeps the harness working.
"""
