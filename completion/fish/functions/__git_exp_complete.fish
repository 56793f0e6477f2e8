# What fish offers for `git exp ...` and `git-exp ...` (installed by pip as
# share/fish/vendor_functions.d/__git_exp_complete.fish): `git exp __complete WORD...
# CURRENT` says it (commands, options, experiment names, remotes, show's columns after
# --sort/--where/--columns), one `candidate<TAB>description` per line.
function __git_exp_complete
    set -l words (commandline -opc)
    if test "$words[1]" = git
        set -l at (contains -i -- exp $words)
        or return
        set words $words[(math $at + 1)..-1]
    else
        set -e words[1] # git-exp
    end
    git exp __complete -- $words (commandline -ct) 2>/dev/null
end
