package apierr

// ParseKind is the Kind whose String is name, for data files that name
// kinds (the openaicompat vendor profiles).
func ParseKind(name string) (Kind, bool) {
	for k := range kindInfo {
		if kindInfo[k].name == name {
			return Kind(k), true
		}
	}
	return 0, false
}
