"""XML-RPC for drupe: XMLRPCDispatcher, XMLRPCController and the xmlrpc tool."""
