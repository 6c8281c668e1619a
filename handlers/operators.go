package handlers

// registerOperators registers the operators routes.
func (s *Server) registerOperators() {}
