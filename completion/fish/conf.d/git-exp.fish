# `git exp <TAB>` in fish (installed by pip as share/fish/vendor_conf.d/git-exp.fish).
# fish's git completion is meant to hand `git exp ...` to the git-exp command's
# completion, but fish 3.6 (Debian 12) registers it under `git-exp` instead of `exp`
# and never lists it, so the two rules are made here; they take effect once fish loads
# its git completion (__fish_git_* are defined there).
complete -c git -n __fish_git_needs_command -f -a exp -d 'Experiments as git commits (git-exp)'
complete -c git -f -n '__fish_git_using_command exp' -a '(__git_exp_complete)'
