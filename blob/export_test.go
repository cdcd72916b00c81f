package blob

// SetBeforeRename installs a hook that runs between writing a blob and
// renaming it into place, and returns what restores the original.
func SetBeforeRename(f func() error) (restore func()) {
	old := beforeRename
	beforeRename = f
	return func() { beforeRename = old }
}
