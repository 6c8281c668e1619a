package handlers

// registerSkillsets registers the skillsets routes.
func (s *Server) registerSkillsets() {}
