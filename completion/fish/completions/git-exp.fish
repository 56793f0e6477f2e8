# fish completion for the git-exp command (installed by pip as
# share/fish/vendor_completions.d/git-exp.fish); `git exp` is vendor_conf.d/git-exp.fish.
complete -c git-exp -f -a '(__git_exp_complete)'
