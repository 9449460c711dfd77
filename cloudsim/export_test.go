package cloudsim

// EncodeState is encode for the tests of package cloudsim_test.
func (s *Sim) EncodeState() ([]byte, error) { return s.encode() }
