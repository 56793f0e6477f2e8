# bash completion for `git exp`, built on git's own completion helpers (__gitcomp).
# Source it after git's completion, e.g. in ~/.bashrc:
#   source /path/to/git-exp/completion/git-exp.bash
# git's completion calls _git_exp for `git exp <TAB>`.

__git_exp_names ()
{
	__git for-each-ref --format='%(refname:strip=2)' refs/exp/ 2>/dev/null
}

_git_exp ()
{
	local subcommands="save run ls show diff apply branch tag note rm rename gc push pull install uninstall doctor"
	local subcommand="$(__git_find_on_cmdline "$subcommands")"
	if [ -z "$subcommand" ]; then
		case "$cur" in
		--*) __gitcomp "--version --help" ;;
		*) __gitcomp "$subcommands" ;;
		esac
		return
	fi
	case "$subcommand,$cur" in
	save,--*) __gitcomp "--name= --message= --force --append --no-untracked" ;;
	run,--*) __gitcomp "--name= --message= --force --append --no-untracked --isolated" ;;
	ls,--*) __gitcomp "--remotes --json" ;;
	ls,*) __gitcomp_nl "$(__git_remotes)" ;;
	show,--*) __gitcomp "--sort= --where= --remotes --json --md --csv" ;;
	diff,--*) __gitcomp "--stat --json" ;;
	apply,--*) __gitcomp "--force" ;;
	rm,--*) __gitcomp "--remote= --dry-run" ;;
	rename,--*) __gitcomp "--remote=" ;;
	tag,--*) __gitcomp "--delete --json" ;;
	note,--*) __gitcomp "--clear --json" ;;
	gc,--*) __gitcomp "--older-than= --orphaned --keep= --dry-run --tombstones --remote=" ;;
	push,--*) __gitcomp "--all --force --dry-run" ;;
	pull,--*) __gitcomp "--all --force --prune" ;;
	push,*|pull,*) __gitcomp_nl "$(__git_remotes; __git_exp_names)" ;;
	install,--*) __gitcomp "--all --pattern= --fetch-only --force" ;;
	uninstall,--*) __gitcomp "--all --keep-refs" ;;
	install,*|uninstall,*) __gitcomp_nl "$(__git_remotes)" ;;
	doctor,--*) __gitcomp "--json --fix" ;;
	*,--*) ;;
	*) __gitcomp_nl "$(__git_exp_names)" ;;
	esac
}
