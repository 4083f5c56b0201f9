namespace NcclEp.Interop;

/// <summary>nvrtcResult (CUDA 13's nvrtc.h).</summary>
internal enum NvrtcResult
{
    Success = 0,
    ErrorOutOfMemory = 1,
    ErrorProgramCreationFailure = 2,
    ErrorInvalidInput = 3,
    ErrorInvalidProgram = 4,
    ErrorInvalidOption = 5,
    ErrorCompilation = 6,
    ErrorBuiltinOperationFailure = 7,
    ErrorNoNameExpressionsAfterCompilation = 8,
    ErrorNoLoweredNamesBeforeCompilation = 9,
    ErrorNameExpressionNotValid = 10,
    ErrorInternalError = 11,
    ErrorTimeFileWriteFailed = 12,
    ErrorNoPchCreateAttempted = 13,
    ErrorPchCreateHeapExhausted = 14,
    ErrorPchCreate = 15,
    ErrorCancelled = 16,
    ErrorTimeTraceFileWriteFailed = 17,
}
