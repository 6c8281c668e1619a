package handlers

// registerDatasets registers the datasets routes.
func (s *Server) registerDatasets() {}
