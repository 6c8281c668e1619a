package handlers

// registerSecrets registers the secrets routes.
func (s *Server) registerSecrets() {}
