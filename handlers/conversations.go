package handlers

// registerConversations registers the conversations routes.
func (s *Server) registerConversations() {}
