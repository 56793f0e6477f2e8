"""git-exp: experiments as git commits under refs/exp/, shared through git remotes."""

__version__ = "0.1.0"
