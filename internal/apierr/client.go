package apierr

// ClientError is the error type ("overloaded_error", ...) and the public
// message the client may see of e. Packages that must not import apierr
// (translate) find it through a one-method interface of their own.
func (e *Error) ClientError() (typ, msg string) { return e.Kind.Type(), e.Public }
