package engine

// MaxPrograms is the program cache's bound, for tests.
const MaxPrograms = maxPrograms

// CachedStepSizes lists the step sizes compiled and kept, least recently
// used first.
func (s *Session) CachedStepSizes() []int {
	var sizes []int
	for _, e := range s.programs.entries {
		sizes = append(sizes, e.n)
	}
	return sizes
}
