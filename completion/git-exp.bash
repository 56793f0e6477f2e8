# bash completion for `git exp` and `git-exp`.
#
# Installed by pip as share/bash-completion/completions/git-exp, where bash-completion
# finds it by itself: git's own completion loads it for `git exp <TAB>` (it calls
# _completion_loader git-exp, then _git_exp).  Elsewhere, source it after git's
# completion, e.g. in ~/.bashrc:
#   source /path/to/share/git-exp/git-exp.bash
#
# What to offer comes from `git exp __complete WORD... CURRENT` (commands, options,
# experiment names, remotes, show's columns after --sort/--where/--columns); this file
# only hands it the words and fits the answer to bash.

__git_exp_candidates ()
{
	# $1...: the words after `exp`, the current one last; prints candidates without descriptions
	git exp __complete -- "$@" 2>/dev/null | while IFS= read -r line; do
		printf '%s\n' "${line%%$'\t'*}"
	done
}

__git_exp_reply ()
{
	# $1: the current word; $2...: the words before it, after `exp`
	local cur_="$1" found
	shift
	found="$(__git_exp_candidates "$@" "$cur_")"
	COMPREPLY=()
	[ -n "$found" ] || return 0
	case "$cur_" in
	--*=*)  # bash replaces only what follows the '=' (COMP_WORDBREAKS): offer that part
		found="$(printf '%s\n' "$found" | sed 's/^[^=]*=//')" ;;
	esac
	local IFS=$'\n' word
	for word in $found; do
		case "$word" in
		*=|*,) COMPREPLY+=("$word") ;;
		*) COMPREPLY+=("$word ") ;;
		esac
	done
}

_git_exp ()
{
	# called by git's completion for `git exp ...`: words, cword and cur are set,
	# __git_cmd_idx is the index of `exp` (older git: the first word that is `exp`)
	local start=${__git_cmd_idx-} i
	if [ -z "$start" ]; then
		for ((i = 1; i < cword; i++)); do
			[ "${words[i]}" = exp ] && { start=$i; break; }
		done
	fi
	[ -n "$start" ] || return
	__git_exp_reply "$cur" "${words[@]:start+1:cword-start-1}"
}

_git_exp_command ()
{
	# `git-exp ...` typed as one command
	local cur words cword prev
	if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
		_get_comp_words_by_ref -n =: cur words cword prev
	else
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD cur="${COMP_WORDS[COMP_CWORD]}"
	fi
	__git_exp_reply "$cur" "${words[@]:1:cword-1}"
}

complete -o nospace -o default -F _git_exp_command git-exp 2>/dev/null || true
